"""What the city learns from its cases: scorecards now, rankings and audits later."""
