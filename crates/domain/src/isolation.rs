//! Measures, isolation and transfer (隔离管控与转运): measure plans per regime, rooms, allocation, vehicles.
