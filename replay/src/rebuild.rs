//! Projection rebuilds with progress reporting. (Being written.)
