"""Tags (controller.go CreateTag / GetTag / DeleteTag / ListTags; Catalog.CreateTag, graveler.CreateTag).

A tag that exists is a 409 whatever ``force`` says (``force`` only bypasses read-only repositories); a tag named
like a branch or a full commit id is a 409 "conflict found"; names follow graveler.ValidateTagID.
"""

from __future__ import annotations

from perago.testing.lakefs.base import ApiBase
from perago.testing.lakefs.calls import ApiError, Call, Reply, paginate
from perago.testing.lakefs.names import check_ref, check_tag
from perago.testing.lakefs.refs import resolve_commit


class TagOps(ApiBase):
    def listTags(self, call: Call) -> Reply:
        repo, prefix = self.repo(call), call.query.get("prefix", "")
        with repo.lock:
            refs = [{"id": t, "commit_id": c} for t, c in sorted(repo.tags.items()) if t.startswith(prefix)]
        return Reply(200, paginate(refs, lambda r: r["id"], call))

    def createTag(self, call: Call) -> Reply:
        body = call.json()
        name, ref = str(body.get("id") or ""), str(body.get("ref") or "")
        check_tag(name)
        repo = self.repo(call)
        with repo.lock:
            self.name_free(repo, name, "branch", "commit")
            check_ref(ref)
            commit = resolve_commit(repo, ref)
            self.writable(repo, body.get("force"))
            if name in repo.tags:
                raise ApiError(409, "tag already exists: not unique")
            self.run_hook("pre-create-tag", repo, name)
            repo.tags[name] = commit.id
        return Reply(201, {"id": name, "commit_id": commit.id})

    def getTag(self, call: Call) -> Reply:
        repo, name = self.repo(call), call.params["tag"]
        with repo.lock:
            commit = repo.tags.get(name)
        if commit is None:
            raise ApiError(404, "tag not found")
        return Reply(200, {"id": name, "commit_id": commit})

    def deleteTag(self, call: Call) -> Reply:
        repo, name = self.repo(call), call.params["tag"]
        check_tag(name)
        with repo.lock:
            self.writable(repo, call.flag("force"))
            if name not in repo.tags:
                raise ApiError(404, "tag not found")
            self.run_hook("pre-delete-tag", repo, name)
            del repo.tags[name]
        return Reply(204)
