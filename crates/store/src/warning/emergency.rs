//! Early warning: emergency (see `app::warning::emergency`).
