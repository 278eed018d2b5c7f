# ride-scorer Lambda image: only the stream scorer's code and its locked runtime dependencies (no MLflow, no
# scikit-learn, SciPy or joblib: the scorer reads the model's scoring form, numpy arrays and JSON, never a pickle).
# The base tag is pinned: a rebuild gets the same OS and Python 3.12 until this line is changed on purpose.
FROM public.ecr.aws/lambda/python:3.12.2025.04.01.18

# Dependencies first, in their own layer: it is rebuilt only when the lock changes. Hashes are required
# and nothing outside the lock is resolved, so the image holds exactly requirements/runtime.txt
# (made by `make lock` from pyproject.toml's dependencies).
# botocore is then pruned to the service models the scorer calls, slimmed to what a client reads
# (infra/prune_botocore.py says why), and numpy's test suites are removed (infra/prune_tests.py).
COPY requirements/runtime.txt infra/prune_botocore.py infra/prune_tests.py /tmp/
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps --only-binary :all: \
        --target "${LAMBDA_TASK_ROOT}" -r /tmp/runtime.txt \
    && python /tmp/prune_botocore.py "${LAMBDA_TASK_ROOT}" \
    && python /tmp/prune_tests.py "${LAMBDA_TASK_ROOT}" \
    && rm /tmp/runtime.txt /tmp/prune_botocore.py /tmp/prune_tests.py

# Exactly the code the stream mode runs: the handler, the core (with the scoring form's reader and its numpy
# arithmetic), the adapters and the stream scorer. The batch and HTTP modes and the operator tools stay out
# (tests/unit/infra/test_image_contents.py holds this to the handler's imports).
COPY lambda_function/__init__.py lambda_function/app.py ${LAMBDA_TASK_ROOT}/lambda_function/
COPY ride_scorer/__init__.py ${LAMBDA_TASK_ROOT}/ride_scorer/
COPY ride_scorer/core/ ${LAMBDA_TASK_ROOT}/ride_scorer/core/
COPY ride_scorer/adapters/ ${LAMBDA_TASK_ROOT}/ride_scorer/adapters/
COPY ride_scorer/stream/ ${LAMBDA_TASK_ROOT}/ride_scorer/stream/
# /var/task is read-only at run time: without bytecode compiled here, every cold start compiles our modules.
RUN python -m compileall -q "${LAMBDA_TASK_ROOT}/lambda_function" "${LAMBDA_TASK_ROOT}/ride_scorer"
# numpy's OpenBLAS starts a thread per visible core when imported, and they spin waiting for matrix work the
# scorer never gives them (its arithmetic is element-wise, no BLAS call): below a full vCPU they take CPU from
# the cold start (about 20 ms of it measured here, bench/cold_start.py).
ENV OPENBLAS_NUM_THREADS=1

CMD ["lambda_function.app.lambda_handler"]
