-- Open leads in deadline order (落地查人: the overdue list is the most urgent first): a partial index
-- the list walks, so a city's first page never sorts every open lead. Append-only.
CREATE INDEX leads_open_by_deadline ON leads (deadline, id) WHERE status IN ('pending', 'unrouted');
