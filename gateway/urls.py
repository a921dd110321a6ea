app_name = "gateway"

urlpatterns = []
