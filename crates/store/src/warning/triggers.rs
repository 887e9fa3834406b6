//! Early warning: triggers (see `app::warning::triggers`).
