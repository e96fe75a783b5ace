"""`unseen serve`: the web app's API, as the page (and a hostile client) use it; jobs run for real."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient

from unseen.serve import Limits, Workspace, create_app
from unseen.serve.store import ACTIVE

from conftest import make_video, probe, shared_path, textured_frame


def scene(width: int = 160, height: int = 120, index: int = 0, centre: tuple[int, int] | None = None) -> np.ndarray:
    """A textured background (no blue in it) with a flat blue disc (the object), RGB."""
    image = textured_frame(index, width, height)
    image[..., 2] = 40
    cv2.circle(image, centre or (width // 2, height // 2), 16, (20, 40, 230), -1)
    return image


def png(image: np.ndarray) -> bytes:
    array = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    return cv2.imencode(".png", array)[1].tobytes()


def blue(image: np.ndarray) -> np.ndarray:
    """Where the disc's blue shows."""
    r, g, b = (image[..., k].astype(int) for k in range(3))
    return (b > 150) & (r < 90) & (g < 90)


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(create_app(Workspace(tmp_path / "ws"))) as client:
        yield client


def wait(client: TestClient, job_id: str, timeout: float = 120) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ACTIVE:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")


def upload(client: TestClient, name: str, data: bytes):
    return client.post("/api/uploads", params={"name": name}, content=data)


def test_a_brushed_photo_is_cleaned_and_downloaded(client: TestClient) -> None:
    image = scene()
    meta = upload(client, "holiday.png", png(image)).json()
    assert (meta["kind"], meta["width"], meta["height"], meta["previews"]) == ("photo", 160, 120, [0])
    # The page brushes on its preview, at the preview's size; here at half size, as a canvas would send it.
    brushed = np.zeros((60, 80, 4), np.uint8)
    cv2.circle(brushed, (40, 30), 11, (255, 255, 255, 255), -1)
    mask = "data:image/png;base64," + base64.b64encode(cv2.imencode(".png", brushed)[1]).decode()
    job = client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "mask": mask}).json()
    job = wait(client, job["id"])
    assert job["state"] == "done", job
    response = client.get(f"/api/jobs/{job['id']}/result")
    assert response.status_code == 200
    assert 'filename="holiday.remove.png"' in response.headers["content-disposition"]
    out = cv2.cvtColor(cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert blue(image).sum() > 700 and blue(out).sum() == 0  # the disc is gone
    far = np.ones(image.shape[:2], bool)
    cv2.circle(far.view(np.uint8), (80, 60), 30, 0, -1)
    assert np.array_equal(out[far], image[far])  # and nothing else changed


def test_a_click_gives_the_object_under_it(client: TestClient) -> None:
    image = scene()
    meta = upload(client, "p.png", png(image)).json()
    response = client.post(f"/api/uploads/{meta['id']}/mask", json={"frame": 0, "prompts": [
        {"kind": "point", "x": 80, "y": 60, "frame": 0}]})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert float(response.headers["x-seconds"]) < 5
    mask = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_GRAYSCALE) > 127
    truth = blue(image)
    assert (mask & truth).sum() / (mask | truth).sum() > 0.8
    # A click on the plain background is on nothing: one line, nothing drawn.
    flat = np.full((120, 160, 3), 90, np.uint8)
    meta = upload(client, "flat.png", png(flat)).json()
    response = client.post(f"/api/uploads/{meta['id']}/mask", json={"frame": 0, "prompts": [
        {"kind": "point", "x": 10, "y": 10, "frame": 0}]})
    assert response.status_code == 400 and "error" in response.json()


def test_a_video_job_keeps_frames_fps_and_sound_and_a_preview_shows_a_few_frames(client: TestClient,
                                                                                tmp_path: Path) -> None:
    shared_path("models", "nanotrack_v2_backbone.onnx")  # the click is followed through the video
    images = [scene(index=t, centre=(50 + 3 * t, 60)) for t in range(16)]
    make_video(tmp_path / "clip.mp4", images=images)
    meta = upload(client, "clip.mp4", (tmp_path / "clip.mp4").read_bytes()).json()
    assert (meta["kind"], meta["frames"], meta["audio"]) == ("video", 16, True)
    assert meta["previews"] == list(range(16))
    click = {"kind": "point", "x": 62, "y": 63, "frame": 4}
    preview = client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "prompts": [click],
                                             "preview": {"frame": 4, "count": 3}}).json()
    preview = wait(client, preview["id"])
    assert preview["state"] == "done", preview
    assert [p["frame"] for p in preview["previews"]] == [4, 5, 6]
    shown = client.get(f"/api/jobs/{preview['id']}/previews/{preview['previews'][0]['file']}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    job = wait(client, client.post("/api/jobs", json={"upload": meta["id"], "job": "remove",
                                                      "prompts": [click]}).json()["id"])
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 16
    result = tmp_path / "result.mp4"
    result.write_bytes(client.get(f"/api/jobs/{job['id']}/result").content)
    facts, original = probe(result), probe(tmp_path / "clip.mp4")
    assert facts["frames"] == 16 and facts["avg_fps"] == original["avg_fps"] and facts["audio_codec"] == "aac"
    import av

    with av.open(str(result)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert sum(blue(f).sum() for f in frames) < 0.02 * sum(blue(i).sum() for i in images)  # followed and gone


def test_background_replacement_of_a_photo(client: TestClient) -> None:
    person = shared_path("data", "photos", "objects", "images")
    photo = next(p for p in sorted(person.iterdir()) if p.suffix in (".png", ".jpg"))
    meta = upload(client, photo.name, photo.read_bytes()).json()
    job = wait(client, client.post("/api/jobs", json={"upload": meta["id"], "job": "background",
                                                      "options": {"with": "transparent"}}).json()["id"])
    assert job["state"] == "done", job
    assert job["download"].endswith(".background.png")
    out = cv2.imdecode(np.frombuffer(client.get(f"/api/jobs/{job['id']}/result").content, np.uint8),
                       cv2.IMREAD_UNCHANGED)
    assert out.shape[2] == 4 and out[..., 3].min() == 0  # somewhere see-through


def test_bad_requests_get_one_clear_answer_and_touch_nothing(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws", Limits(max_upload_mb=0.05))
    with TestClient(create_app(workspace)) as client:
        good = png(scene())
        # A name with ../ only lends its extension: the file lands under a generated name.
        answer = upload(client, "../../../../etc/evil.png", good)
        assert answer.status_code == 200, answer.text
        meta = answer.json()
        assert meta["name"] == "evil.png"
        assert (tmp_path / "ws" / "uploads" / meta["id"] / "input.png").is_file()
        assert not (tmp_path / "etc").exists()
        cases = [
            (upload(client, "notes.txt", b"hello"), 400, "not a photo or video"),
            (upload(client, "broken.png", b"\x89PNG\r\n\x1a\nnot really"), 400, "broken.png"),
            (upload(client, "empty.png", b""), 400, "empty"),
            (upload(client, "big.png", png(np.random.default_rng(0).integers(0, 255, (400, 400, 3), np.uint8))),
             413, "limit"),
            (client.get("/api/uploads/0123456789abcdef"), 404, "no such upload"),
            (client.get("/api/uploads/..%2F..%2Fetc%2Fpasswd"), 404, ""),
            (client.get(f"/api/uploads/{meta['id']}/frames/7.jpg"), 404, "no preview"),
            (client.get("/api/jobs/not-a-job"), 404, "no such job"),
            (client.get("/api/jobs/0123456789abcdef/result"), 404, "no such job"),
            (client.post("/api/jobs/0123456789abcdef/cancel"), 404, "no such job"),
            (client.post("/api/jobs", content=b"{not json"), 400, "not JSON"),
            (client.post("/api/jobs", json=[1, 2]), 400, "JSON object"),
            (client.post("/api/jobs", json={"upload": meta["id"], "job": "explode"}), 400, "job must be"),
            (client.post("/api/jobs", json={"upload": meta["id"], "job": "remove"}), 400, "say what to remove"),
            (client.post("/api/jobs", json={"upload": "0123456789abcdef", "job": "background"}), 404, "no such"),
            (client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "prompts": [{"kind": "lasso"}]}),
             400, "each prompt"),
            (client.post(f"/api/uploads/{meta['id']}/mask", json={"frame": 0, "prompts": [
                {"kind": "box", "x": 500, "y": 500, "w": 10, "h": 10, "frame": 0}]}), 400, "outside"),
            # Options that name files on the command line take no paths from a client.
            (client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "classes": "car",
                                            "options": {"method": str(tmp_path / "run")}}), 400, "method must be"),
            (client.post("/api/jobs", json={"upload": meta["id"], "job": "background",
                                            "options": {"with": "/etc/hosts"}}), 400, "background must be"),
        ]
        for response, status, words in cases:
            assert response.status_code == status, (response.request.url, response.text)
            body = response.json()
            assert set(body) == {"error"} and words in body["error"], body
            assert "Traceback" not in body["error"] and str(tmp_path) not in body["error"]
        # Failed uploads leave nothing behind; the one good upload is all there is.
        assert [p.name for p in (tmp_path / "ws" / "uploads").iterdir()] == [meta["id"]]
        # One job per upload at a time.
        mask = "data:image/png;base64," + base64.b64encode(png(np.full((120, 160), 255, np.uint8))).decode()
        first = client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "mask": mask})
        second = client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "mask": mask})
        assert first.status_code == 201 and second.status_code == 409 and "already" in second.json()["error"]
        wait(client, first.json()["id"])
        preview = client.get(f"/api/jobs/{first.json()['id']}/previews/..%2Fjob.json")
        assert preview.status_code == 404


def test_cancel_stops_a_running_job_and_leaves_no_partial_output(client: TestClient, tmp_path: Path) -> None:
    images = [scene(320, 240, index=t, centre=(100 + 2 * t, 120)) for t in range(90)]
    make_video(tmp_path / "long.mp4", images=images, width=320, height=240)
    meta = upload(client, "long.mp4", (tmp_path / "long.mp4").read_bytes()).json()
    mask = "data:image/png;base64," + base64.b64encode(png(np.pad(np.full((60, 60), 255, np.uint8),
                                                                  ((90, 90), (100, 160))))).decode()
    job = client.post("/api/jobs", json={"upload": meta["id"], "job": "remove", "mask": mask}).json()
    while client.get(f"/api/jobs/{job['id']}").json()["state"] == "queued":
        time.sleep(0.1)
    client.post(f"/api/jobs/{job['id']}/cancel")
    job = wait(client, job["id"], timeout=60)
    assert job["state"] == "cancelled" and job["result"] is None
    folder = tmp_path / "ws" / "jobs" / job["id"]
    assert not [p.name for p in folder.iterdir() if "part" in p.name or p.name.startswith("result")]
    assert client.get(f"/api/jobs/{job['id']}/result").status_code == 409


def test_jobs_survive_a_server_restart(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    upload_id, path = workspace.new_upload("a.png")
    path.write_bytes(png(scene()))
    workspace.finish_upload(upload_id, "a.png")
    mask = "data:image/png;base64," + base64.b64encode(png(blue(scene()).astype(np.uint8) * 255)).decode()
    job = workspace.new_job({"upload": upload_id, "job": "remove", "mask": mask})
    workspace.update_job(job["id"], state="running")  # the server died while it ran
    with TestClient(create_app(Workspace(tmp_path / "ws"))) as client:
        assert wait(client, job["id"])["state"] == "done"
        assert client.get(f"/api/jobs/{job['id']}/result").status_code == 200


def test_old_uploads_and_results_are_cleaned_up(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws", Limits(keep_hours=1))
    upload_id, path = workspace.new_upload("a.png")
    path.write_bytes(png(scene()))
    workspace.finish_upload(upload_id, "a.png")
    fresh_id, fresh = workspace.new_upload("b.png")
    fresh.write_bytes(png(scene()))
    workspace.finish_upload(fresh_id, "b.png")
    old = time.time() - 2 * 3600
    os.utime(tmp_path / "ws" / "uploads" / upload_id / "meta.json", (old, old))
    assert workspace.clean_up() == 1
    assert [p.name for p in (tmp_path / "ws" / "uploads").iterdir()] == [fresh_id]


def test_the_command_refuses_a_bad_port_in_one_line(capfd) -> None:
    from unseen.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["unseen: error: --port must be 1-65535, got 70000"]
