"""HTML forms of the lead pages: they turn posted fields into the values the services take, and
put the services' error messages back next to the fields they are about."""
