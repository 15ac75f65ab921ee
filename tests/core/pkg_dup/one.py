from pydantic import BaseModel

from perago import task


class P(BaseModel):
    pass


@task(name="same")
def first(params: P) -> P:
    return params
