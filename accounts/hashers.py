"""How passwords are stored: Argon2id at OWASP's parameters.

Django's own Argon2 hasher uses 100 MiB and 8 lanes, and its default PBKDF2 a million SHA-256 rounds: about
0.2 s and 0.3 s of CPU a sign-up or log-in on a 2-core AMD EPYC, during which a web thread computes nothing
else. OWASP's Password Storage Cheat Sheet puts Argon2id first and lists m = 19 MiB, t = 2, p = 1 as its
minimum; memory-hard, it costs an attacker's GPUs more than PBKDF2's million rounds do, and it costs the site
25 ms of CPU a hash. Passwords stored with an older hasher are rehashed with this one at the user's next log-in
(Django's `check_password` does it).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
