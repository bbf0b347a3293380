"""The site on one machine, for development and the tests: `make run` and the servers it embeds.

`run` starts everything under honcho (`python -m devserver.run`), `embedded_redis`
and `embedded_s3` are real Redis and S3 servers on loopback for machines without
them, and `keep_running` starts again any of `make run`'s processes that stops. Production runs
none of this (see Procfile); nothing in the site imports it.
"""
