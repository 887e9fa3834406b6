//! Measures, isolation sites, allocation, transfers, home isolation and hospitals (隔离、转运与救治).
