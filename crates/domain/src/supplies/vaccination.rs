//! Vaccination (疫苗接种, domain-rules.md §10.5): dose records, intervals, coverage by age band, contraindications.
