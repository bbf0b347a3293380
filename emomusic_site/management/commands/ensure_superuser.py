import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the superuser named by DJANGO_SUPERUSER_USERNAME unless it exists (for `make run`)."

    def handle(self, *args, **options) -> None:
        username = os.environ["DJANGO_SUPERUSER_USERNAME"]
        if get_user_model().objects.filter(username=username).exists():
            self.stdout.write(f"Superuser {username!r} already exists.")
            return
        call_command("createsuperuser", interactive=False, verbosity=0)
        self.stdout.write(self.style.SUCCESS(f"Created superuser {username!r}."))
