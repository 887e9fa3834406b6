//! Emergency drills (全流程全要素全人员应急演练, domain-rules.md §10.1): scenarios as data
//! (`data/drills/`), the steps measured against their deadlines, and the score.
