"""gunicorn settings for Once (`gunicorn -c config/gunicorn.py config.wsgi`).

After a worker has imported Django and the app, its objects are frozen out of the garbage
collector's reach: they live as long as the worker, and without this every full collection
walks all of them again, which showed as 70 ms spikes on long pages (benchmarks/review_speed.py).
"""

import gc


def post_worker_init(worker: object) -> None:  # gunicorn's hook signature; worker unused
    gc.collect()
    gc.freeze()
