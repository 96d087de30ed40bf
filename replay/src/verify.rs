//! Whole-log verification and digest. (Being written.)
