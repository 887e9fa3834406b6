//! Pharmacies (零售药店): real-name sales of the four drug classes and what a sale sets off.
