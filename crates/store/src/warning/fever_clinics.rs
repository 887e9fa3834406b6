//! Early warning: fever_clinics (see `app::warning::fever_clinics`).
