from pydantic import BaseModel

from perago import task


class P(BaseModel):
    x: int = 0


class R(BaseModel):
    y: int


@task()
def alpha(params: P) -> R:
    return R(y=params.x)
