//! Early warning: pharmacies (see `app::warning::pharmacies`).
