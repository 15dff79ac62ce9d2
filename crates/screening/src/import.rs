//! Watchlist import: FollowTheMoney JSON lines, the UN consolidated-list XML, CSV.
