//! Leads and 落地查人: every risk person arrives as a lead, routed to a grid, with a 24-hour deadline.
