"""The local stack: real servers started as child processes on loopback, each in its own folder.

`make up` and the test fixtures use the same component classes. A component records its PID
under ``<run dir>/<name>/pid`` so that `make down` (``edgeward stack down``) stops whatever
`make up` started, even from another shell.
"""
