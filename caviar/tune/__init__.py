"""Ray Tune behind one door: the only package that imports ``ray.tune``.

A sweep spec becomes a Tuner here (``build``: searchers, the one scheduler wrapper and its
additions, callbacks, the trainable), runs with Tune's environment settings scoped to the fit
(``environment``), and resumes or grows (``resumable``, ``reconcile``, ``grow``, ``continuation``).
Every private Ray Tune name is in ``compat``. The pure planning these wire up is ``caviar.search``.
"""
