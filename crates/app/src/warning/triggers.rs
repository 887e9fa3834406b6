//! Multi-point triggers (多点触发): signals from the sentinel channels become alerts.
