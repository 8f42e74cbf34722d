// The evaluation worker process (PostgreSQL deployments; the embedded default runs these jobs inside the
// web process): takes `evaluate.run` jobs — a dataset through the ask pipeline and the judge. It talks to
// Ollama on the inference machine, so it can run anywhere that reaches both Ollama and PostgreSQL.
import { runWorkers } from "../lib/jobs/run-workers";

await runWorkers("evaluate", ["evaluate"]);
