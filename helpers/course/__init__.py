"""How the course runs, beside the lessons: the Colab set-up and data routes (:mod:`.colab`),
the data a notebook asks for (:mod:`.prepare`), downloads (:mod:`.sources`), the resized copy of
real data (:mod:`.resized`), what a teacher publishes (:mod:`.publish`), the training lock
(:mod:`.filelock`), the run's recorded claims (:mod:`.claims`) and the exercise checks'
framework (:mod:`.answers`). A student never needs to open it.
"""
