"""The Media view: an Airflow UI plugin that shows what media jobs produced (Airflow 3.1+).

``plugin`` registers the FastAPI app and the task-instance / DAG-run views, ``links`` the "Media"
extra link of the operators, ``records`` reads a task's XCom into what the view shows, ``files``
serves persisted outputs, ``pages`` renders HTML. See ``docs/media-view.md``.
"""
