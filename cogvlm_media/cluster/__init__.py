"""Analysis spread over a Ray cluster (``ingest --ray``, ``watch --ray``): docs/deploy.md.

The driver (:mod:`.runner`) queues each file in the database and sends it to a node as a Ray task
(:mod:`.node`): the node claims the run under its own worker id (the database shows which node has it),
reads the file through its path mapping or a streamed copy (:mod:`.files`), analyses it on its CPUs,
sends the windows to a model replica actor (:mod:`.replicas`, one per GPU, each with the same
``WindowBatcher`` as the single-GPU path) and stores the result in one transaction (``process_run``).
A node lost mid-file: its run is taken back (``jobs.recover``) and sent to another node.
"""

from cogvlm_media.cluster.connect import RayUnavailable, connect
from cogvlm_media.cluster.runner import ClusterRunner

__all__ = ["RayUnavailable", "connect", "ClusterRunner"]
