//! Drill runs and their measured steps (应急演练): what a drill played, when each step was due
//! and done, and the after-action report filed with the command office.
