"""Who the caller is and what it may do: accounts, teams, API tokens, principals and the one access decision."""
