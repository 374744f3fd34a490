"""``genforge serve`` mounts the web studio at /studio, behind the same keys, fed with the server's figures."""


def test_the_studio_is_mounted_behind_the_keys_and_lists_the_served_runs(server, serve_runs):
    with server.client(key=None) as anonymous:
        assert anonymous.get("/studio/").status_code == 401
    with server.client() as http:
        page = http.get("/studio/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert serve_runs["gpt"].name in page.text and serve_runs["vae"].name in page.text
        http.post("/v1/embeddings", json={"model": "minilm", "input": "a"})
        assert http.get("/studio/server").status_code == 200
        figures = http.get("/studio/api/server").json()["server"]
        assert figures["requests"] > 0 and figures["batch_size_mean"] >= 1 and figures["queue_depth"] == 0
