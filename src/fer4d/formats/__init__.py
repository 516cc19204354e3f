"""fer4d.formats: one module per file a stage writes, the only code that opens those files.

| file | written by | module |
|---|---|---|
| ``raw/{subject}/{Folder}/ground_truth.h5`` | ``synthesize`` | ``groundtruth`` |
| ``ingest/{subject}/{label}.h5`` | ``ingest`` | ``ingested`` |
| ``fit/{subject}/{label}.h5`` | ``fit`` | ``fit`` |
| ``store/dataset.h5`` | ``store`` | ``store`` |
| ``mesh/hierarchy.npz`` | ``hierarchy`` | ``hierarchy`` |
| ``folds/{i}/autoencoder.pt``, ``folds/{i}/transformer.pt`` | ``train_autoencoder``, ``train_transformer`` | ``checkpoints`` |
| ``folds/{i}/embeddings.h5`` | ``embed`` | ``embeddings`` |
| ``folds/{i}/predictions.json`` | ``train_transformer`` | ``predictions`` |

Each module holds the file's dataclass and its ``write_*`` / ``read_*`` functions. Nothing is
imported here, so a stage that reads one format does not depend on the others' code.
"""
