"""Kubernetes objects as Sloth's and Pyrra's CRDs are written: the envelope and its metadata.

A file may be a manifest someone wrote, or `kubectl get -o yaml` output with server-set metadata and a
status: both are read without warnings for the fields Kubernetes itself puts there.
"""

from __future__ import annotations

from slokit.spec.model import ObjectMeta
from slokit.spec.source import Doc, Fields

ENVELOPE = ("apiVersion", "kind", "metadata", "spec", "status")
# ObjectMeta's fields (k8s.io/apimachinery meta/v1): only name, namespace, labels and annotations are used.
METADATA = ("name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion", "generation",
            "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
            "finalizers", "managedFields", "selfLink")


def read(doc: Doc) -> tuple[ObjectMeta, Fields]:
    """The object's metadata and its `spec` (as Fields of the caller's keys: see `Fields.raw`)."""
    top = Fields(doc, (), doc.data, ENVELOPE, required=("apiVersion", "kind", "metadata", "spec"))
    m = Fields(doc, top.at("metadata"), top.raw("metadata", {}), METADATA,
               required=("name",) if top.has("metadata") else ())  # (a missing metadata is one problem)
    meta = ObjectMeta(name=m.str("name", ""), namespace=m.str("namespace"), labels=m.str_map("labels"),
                      annotations=m.str_map("annotations"))
    return meta, top
