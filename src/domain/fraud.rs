//! Local fraud rules (to be written).
