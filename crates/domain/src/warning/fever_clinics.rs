//! Fever clinics (发热门诊/发热诊室, domain-rules.md §7.2): the closed loop triage → reception →
//! screening → observation → referral or release, and the rule of when a patient may leave.
