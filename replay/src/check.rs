//! check-projections: rebuild each projection into scratch tables and compare with the live
//! read model. (Being written.)
