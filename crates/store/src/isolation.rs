//! Measures, isolation sites and rooms, stays, transfers, home check-ins, hospital beds (隔离、转运与救治).
