"""Pictures in reports: the upload the editor calls, and the one way an image is served.

PRODUCT.md, "Writing, duplicates and importing Markdown"; the rules are in incidents/images.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from common.permissions import READ_ONLY
from common.roles import can_write
from incidents import images
from incidents.models import Incident

# Room for the multipart framing and the form's other fields around a 10 MB file.
_ENVELOPE = 64 * 1024


class _SizeCap(FileUploadHandler):
    """Stops reading files past MAX_IMAGE_BYTES in all: nothing larger is kept, in memory or
    on disk. The rest of the body is read and dropped, so the browser gets the answer."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > images.MAX_IMAGE_BYTES:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers keep the file


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# Django's CSRF check reads the body (the form's token) before the view could cap its size:
# it is skipped here and done by `_receive` once the cap is in place (Django's documented way
# to change upload handlers in a view).
@csrf_exempt
@require_POST
def image_upload(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """POST `image` (multipart) from the report editor: 201 {"markdown", "url"}.

    `/incidents/<pk>/images/` for an incident's edit form (404 if the writer may not see it),
    `/incidents/images/` for the new-incident form (the image is bound when the incident is
    saved). 400 {"error"} for a file that is not an accepted image or is over 10 MB (refused
    from its Content-Length before the body is read when the browser sends one), 403 for
    viewers.
    """
    if not can_write(request.user):
        return _refused(READ_ONLY, status=403)
    incident = None
    if pk is not None:
        incident = get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > images.MAX_IMAGE_BYTES + _ENVELOPE:
        return _refused(images.TOO_LARGE)
    cap = _SizeCap(request)
    request.upload_handlers.insert(0, cap)
    return _receive(request, incident, cap)


@csrf_protect
def _receive(request: HttpRequest, incident: Incident | None, cap: _SizeCap) -> HttpResponse:
    upload: Any = request.FILES.get("image")
    if cap.exceeded:
        return _refused(images.TOO_LARGE)
    if upload is None:
        return _refused("Choose a PNG, JPEG, GIF or WebP image to upload.")
    try:
        image = images.upload_image(
            upload, name=upload.name or "", size=upload.size or 0, by=request.user,
            incident=incident,
        )  # fmt: skip
    except images.ImageRefused as refused:
        return _refused(str(refused))
    except PermissionDenied as denied:
        return _refused(str(denied), status=403)
    url = image.get_absolute_url()
    return JsonResponse({"markdown": images.markdown_of(image), "url": url}, status=201)


@require_GET
def image_file(request: HttpRequest, key: str, extension: str) -> HttpResponseBase:
    """An image, to the people who may see its incident; 404 for anyone else, as if absent.

    `Cache-Control: private, no-store`, like every response to a signed-in person
    (common/middleware.py): an incident for everyone can become restricted, and no cache may
    keep its pictures past that.
    """
    found = images.visible_image(key, extension, request.user)
    if found is None:
        raise Http404("No such image.")
    image = found
    try:
        handle = image.file.open("rb")
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = FileResponse(handle, content_type=image.content_type)
    response["Content-Disposition"] = f'inline; filename="{image.key}.{image.extension}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
