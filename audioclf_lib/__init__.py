"""audioclf_lib: music / speech / noise classification from mel-spectrograms.

Modules and packages by concern (the notebooks ``01``-``05`` import them; see each docstring):

- settings and process: ``config`` (feature settings, paths from the repository root),
  ``runtime`` (seeding, threads, device; ``setup_notebook``), ``timing`` (latency and memory
  measurements);
- audio and features: ``audio`` (load, resample, normalise, silence, windows), ``features``
  (the one mel front end and the seed's image representations), ``augment`` (waveform
  augmentation, SpecAugment);
- data: ``data`` (manifest, leak-free splits, decoded clip sets), ``windows`` (training and
  evaluation windows), ``cache`` (prepared splits and features named after their settings),
  ``corpus/`` (building the clip corpus from package registries);
- models and training: ``models`` (the model zoo and registry), ``checkpoint`` (self-describing
  checkpoints), ``train`` (the training loop and evaluation), ``metrics`` (accuracy, balanced
  accuracy, F1, bootstrap intervals), ``crossval`` (source-held-out cross-validation);
- devices and fine-tuning: ``devices/`` (microphone profiles, the simulation chain, device
  recordings), ``finetune`` (fine-tuning for a device, device-robust training, device
  checkpoints), ``laptop_recipe`` (notebook 04's laptop study as one recipe), ``recorder``
  (recording labelled clips from a microphone), ``soundio`` (the one sounddevice layer);
- inference and decisions: ``scoring`` (what both predictors share: windows of files, the silence
  gate, the decision policy), ``predict`` (the ``Predictor``: front end + model for a window or a
  file), ``onnx_predictor`` and ``features_numpy`` (the command line's torch-free predictor: the
  log-mel front end in numpy and the cached ONNX export), ``segments/`` (the decision policy from window probabilities to segments: ``policy``,
  ``merge``; segment files in CSV, JSON lines, Audacity, TextGrid, RTTM: ``formats``; scoring
  segments against a reference: ``evaluate``), ``onnx_export`` (ONNX export and
  the cached ONNX Runtime backend);
- live: ``live/`` (sources, the live classifier, rendering, the Jupyter UI, a test harness and
  its benchmark);
- plots: ``viz`` (plot helpers and ``save_fig``);
- command line: ``cli`` (the ``audioclf`` entry point), ``commands/`` (one module per
  subcommand), ``__main__`` (``python -m audioclf_lib``);
- benchmarks: ``bench`` (the ``make bench`` suite), ``bench_segments`` (the command line as users
  run it: start-up, throughput, parallel files).

Importing the package changes no global state; notebooks call ``runtime.setup_notebook``.
"""
__version__ = "0.1.0"
