#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config import env

    # Settings read this to tell a management command from a process that serves requests
    # (gunicorn, Celery and runserver never reach here, or say so): see SECRET_KEY.
    env.management_argv = sys.argv[1:]

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
