"""Edgeward's data layer: models, migrations, the plan catalogue and the license rules."""
