import os

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email


class Command(BaseCommand):
    help = "Create the superuser named by DJANGO_SUPERUSER_USERNAME unless it exists (for `make run`)."

    def handle(self, *args, **options) -> None:
        username = os.environ["DJANGO_SUPERUSER_USERNAME"]
        if get_user_model().objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} already exists.")
            return
        # `make run` goes on without the admin rather than stopping the whole site for a typo.
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        try:
            if email:
                validate_email(email)
            call_command("createsuperuser", interactive=False, verbosity=0)
        except ValidationError:
            self.stderr.write(
                f"DJANGO_SUPERUSER_EMAIL={email!r} is not an e-mail address (name@example.com): "
                "the site starts without that admin."
            )
            return
        except CommandError as error:
            self.stderr.write(f"The admin {username!r} was not created ({error}): the site starts without it.")
            return
        self.stdout.write(self.style.SUCCESS(f"Created superuser {username!r}."))
