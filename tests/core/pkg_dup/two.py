from pydantic import BaseModel

from perago import task


class P(BaseModel):
    pass


@task(name="same")
def second(params: P) -> P:
    return params
