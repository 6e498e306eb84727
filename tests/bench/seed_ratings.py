#!/usr/bin/env python3
"""tests/bench/seed_ratings.py — seeds a running rlhfd for the ratings benchmark,
and afterwards reads the stored-ratings count back.

  seed_ratings.py seed  URL ADMIN_TOKEN OUT RATERS GROUPS K
      creates RATERS raters and GROUPS prompts with K answers each (one NDJSON
      import), then writes OUT for tests/bench/ratings.lua:
          line 1:   "<raters> <groups> <k>"
          raters:   one token per line
          groups:   "<group_id> <response_id> ... (k ids)" per line
  seed_ratings.py count URL ADMIN_TOKEN
      prints the number of current ratings (GET /api/stats).
"""
import json
import sys
import urllib.request


def call(url, token, method, path, body=None, ctype="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def seed(url, token, out, n_raters, n_groups, k):
    tokens = []
    # rater names are unique: a second seeding on one server (worker_latency.sh
    # seeds two sets) gets names of its own, after the raters already there
    first = len(call(url, token, "GET", "/api/raters")["raters"])
    for i in range(n_raters):
        r = call(url, token, "POST", "/api/raters", {"name": f"bench-rater-{first + i}", "role": "rater"})
        tokens.append(r["token"])
    lines = "".join(json.dumps({"prompt": f"bench prompt {g}: what is {g} + {g}?",
                                "responses": [f"answer {j} to prompt {g}" for j in range(k)]}) + "\n"
                    for g in range(n_groups))
    res = call(url, token, "POST", "/api/prompts", lines.encode(), "application/x-ndjson")
    assert res["inserted"] == n_groups, res
    groups = []
    for pid in res["ids"]:
        d = call(url, token, "GET", f"/api/prompts/{pid}")
        rs = d["responses"]
        assert len(rs) == k and len({r["group_id"] for r in rs}) == 1, d
        groups.append([rs[0]["group_id"]] + [r["id"] for r in rs])
    with open(out, "w") as f:
        f.write(f"{n_raters} {n_groups} {k}\n")
        for t in tokens:
            f.write(t + "\n")
        for g in groups:
            f.write(" ".join(map(str, g)) + "\n")


def main():
    if sys.argv[1] == "seed":
        url, token, out = sys.argv[2:5]
        seed(url, token, out, *map(int, sys.argv[5:8]))
    elif sys.argv[1] == "count":
        print(call(sys.argv[2], sys.argv[3], "GET", "/api/stats")["ratings"])
    elif sys.argv[1] == "durability":
        d = call(sys.argv[2], sys.argv[3], "GET", "/api/stats")["durability"]
        gc = d.get("group_commit")
        print("durability %s (PRAGMA synchronous=%s on the connection that commits ratings)%s" % (
            d["mode"], d["ratings_synchronous"],
            ", %d ratings requests in %d commits (%.1f a commit, at most %d)" % (
                gc["writes"], gc["commits"], gc["writes"] / max(gc["commits"], 1), gc["max_batch"])
            if gc else ""))
    else:
        sys.exit("usage: seed_ratings.py seed|count ...")


if __name__ == "__main__":
    main()
