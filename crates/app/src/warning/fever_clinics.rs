//! Fever clinics (发热门诊): the closed loop of each patient, from registration to referral or release.
