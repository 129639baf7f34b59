"""The local Kubernetes API: an in-process test double of kube-apiserver.

It serves, over plain HTTP on 127.0.0.1, what kopf 1.45, the ``kubernetes`` Python client and
``kubectl apply/get/wait/delete/describe`` use: discovery (refreshed as CRDs come and go), core
v1 Namespaces, Secrets, ConfigMaps and Events, CustomResourceDefinitions and the custom resources
of any applied CRD; get, list (limit/continue, label and field selectors), create (generateName),
update, merge / JSON / strategic-merge patch, delete; watch with resume, bookmarks and 410 Gone;
the status subresource, generation, finalizers, namespace termination, owner-reference garbage
collection; structural-schema pruning, defaulting and validation including CEL rules; Table
answers with printer columns.

What it does not do, on purpose:

* no authentication, authorisation or RBAC: every request is allowed (the token is ignored);
* no admission webhooks, no conversion webhooks (versions of a CRD share one stored object);
* no server-side apply: ``application/apply-patch+yaml`` is answered with 415, since field
  ownership and its conflicts are not modelled;
* no protobuf (typed ``kubectl create secret ...`` sends it and gets 415): use ``kubectl apply``;
* no Pods, workloads, controllers, Services, Leases or any kind not listed above;
* list continuation reads current state, not a snapshot;
* ``/openapi/v3`` lists endpoints without schemas (enough for kubectl to leave validation to the
  server) and there is no ``/openapi/v2``, so kubectl cannot validate a CRD and its objects in
  one file: apply the CRD, wait for ``Established``, then the objects;
* Kubernetes' CEL extension libraries (``quantity``, ``isURL``, ...) are missing.
"""

from smartlicensing.testing.kubeapi.server import LocalKubeAPI

__all__ = ["LocalKubeAPI"]
